import { beforeAll, expect, it } from 'vitest';
import { type Json, type Synthesized, synthesize } from './synth.ts';

let aws: Synthesized;
beforeAll(async () => {
  aws = await synthesize();
});

/**
 * The template with what changes on every code edit blanked: asset hashes (the functions' code) appear as
 * 64-hex strings in S3 keys and asset parameters. What is left changes only when the infrastructure does.
 */
function stable(template: Json): Json {
  return JSON.parse(JSON.stringify(template).replace(/[0-9a-f]{64}/g, '<asset-hash>'));
}

it('matches the committed snapshot (review the diff when infrastructure changes on purpose)', () => {
  expect(stable(aws.json)).toMatchSnapshot();
});
