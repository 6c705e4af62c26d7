import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { createDynamoClient } from './clients/dynamodb.ts';
import type { Config } from './config.ts';
import { BadRequestError } from './errors.ts';
import { isImageId } from './ids.ts';
import {
  type Failure,
  type ImageMetadata,
  type ImageRecord,
  type ImageStatus,
  type Rejection,
  sourcesOf,
  type VariantRecord,
} from './model.ts';

/** Name of the GSI that lists an owner's images newest first. */
export const OWNER_INDEX = 'byOwner';

/** Name of the KEYS_ONLY GSI of records by status, least recently changed first (the sweeper's). */
export const STATUS_INDEX = 'byStatus';

/** What {@link STATUS_INDEX} projects: the table key and the index keys. */
export interface StatusKey {
  id: string;
  status: ImageStatus;
  updatedAt: string;
}

/** Result of a conditional transition: the new record, or the record that blocked it (if any). */
export type TransitionResult =
  | { applied: true; record: ImageRecord }
  | { applied: false; current: ImageRecord | undefined };

/** One page of an owner's images. */
export interface ImagePage {
  items: ImageRecord[];
  nextCursor: string | undefined;
}

/**
 * Image records in DynamoDB. Every state change is a conditional update that names the states it may come
 * from ({@link sourcesOf}), so redelivered or out-of-order messages cannot regress an image, and a render that
 * finishes after a delete learns it lost the race.
 */
export class ImageRepository {
  readonly #db: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #now: () => Date;

  constructor(db: DynamoDBDocumentClient, tableName: string, now: () => Date = () => new Date()) {
    this.#db = db;
    this.#table = tableName;
    this.#now = now;
  }

  /** Stores a new record; fails if the id exists (ids are random, so that is a bug, not a race). */
  async create(record: ImageRecord): Promise<void> {
    await this.#db.send(
      new PutCommand({
        TableName: this.#table,
        Item: record,
        ConditionExpression: 'attribute_not_exists(id)',
      }),
    );
  }

  /** Reads one record with a strongly consistent read (a client polls right after uploading). */
  async get(id: string): Promise<ImageRecord | undefined> {
    const { Item } = await this.#db.send(
      new GetCommand({ TableName: this.#table, Key: { id }, ConsistentRead: true }),
    );
    return Item as ImageRecord | undefined;
  }

  /**
   * `→ processing` with what ingest measured. Clears the abandoned-upload TTL. Again on a `processing`
   * image only for the same bytes (a redelivered event re-sends its render job): the first original
   * measured is the image, and other bytes never replace it in the record.
   */
  recordMetadata(id: string, metadata: ImageMetadata): Promise<TransitionResult> {
    return this.#transition(
      id,
      'processing',
      { ...metadata },
      ['expiresAt'],
      { '#original': 'original', '#sha': 'sha256' },
      {
        clause: '(#status <> :measured OR #original.#sha = :sha)',
        values: { ':measured': 'processing', ':sha': metadata.original.sha256 },
      },
    );
  }

  /** `processing → ready` with the rendered variants. */
  markReady(id: string, variants: VariantRecord[], sourceSha256: string): Promise<TransitionResult> {
    // Only if the record describes the bytes the variants were made from (defence in depth: ingest never
    // records a second original, so a render of other bytes has already failed its own check).
    return this.#transition(
      id,
      'ready',
      { variants },
      [],
      { '#original': 'original', '#sha': 'sha256' },
      {
        clause: '#original.#sha = :sha',
        values: { ':sha': sourceSha256 },
      },
    );
  }

  /** `→ rejected` with a stable reason. */
  reject(id: string, rejection: Rejection): Promise<TransitionResult> {
    return this.#transition(id, 'rejected', { rejection }, ['expiresAt']);
  }

  /**
   * `→ failed` with why: the image's ingest or render message failed on its last receive. Only from the
   * states that work is still pending in (`pending_upload`, `uploaded`, `processing`, `failed`): a ready,
   * rejected or deleting image is never marked by a late or duplicate message.
   */
  markFailed(id: string, failure: Failure): Promise<TransitionResult> {
    return this.#transition(id, 'failed', { failure }, ['expiresAt']);
  }

  /**
   * `failed → processing`, when a redriven render job resumes the work: clients see `processing` again while
   * it renders. Applied only to a failed image that was measured (it has its original's metadata).
   */
  resumeProcessing(id: string): Promise<TransitionResult> {
    return this.#transition(
      id,
      'processing',
      {},
      [],
      { '#original': 'original' },
      {
        clause: '#status = :failed AND attribute_exists(#original)',
        values: { ':failed': 'failed' },
      },
    );
  }

  /**
   * Records on a `deleting` image that its purge went to the DLQ (the image stays `deleting`: it reads as
   * 404 whatever happens next). A no-op when the record is gone or not being deleted.
   */
  async recordPurgeFailure(id: string, failure: Failure): Promise<boolean> {
    try {
      await this.#db.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { id },
          UpdateExpression: 'SET #failure = :failure, #updatedAt = :now',
          ConditionExpression: '#status = :deleting',
          ExpressionAttributeNames: { '#failure': 'failure', '#updatedAt': 'updatedAt', '#status': 'status' },
          ExpressionAttributeValues: {
            ':failure': failure,
            ':now': this.#now().toISOString(),
            ':deleting': 'deleting',
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** `→ deleting`; from then on the image reads as 404 and the purge owns it. */
  markDeleting(id: string): Promise<TransitionResult> {
    return this.#transition(id, 'deleting', {}, ['expiresAt']);
  }

  /** Removes the record of an image being deleted. Idempotent: a missing record is not an error. */
  async remove(id: string): Promise<void> {
    try {
      await this.#db.send(
        new DeleteCommand({
          TableName: this.#table,
          Key: { id },
          ConditionExpression: 'attribute_not_exists(id) OR #status = :deleting',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':deleting': 'deleting' },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new Error(`Refusing to remove image ${id}: it is not being deleted`, { cause: error });
      }
      throw error;
    }
  }

  /**
   * Lists an owner's images, newest first, hiding those being deleted. The cursor is opaque to clients
   * (base64url JSON of DynamoDB's last key) and is validated on the way back in.
   */
  async listByOwner(
    ownerId: string,
    options: { limit: number; cursor?: string | undefined },
  ): Promise<ImagePage> {
    const startKey = options.cursor === undefined ? undefined : decodeCursor(options.cursor, ownerId);
    const result = await this.#db.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: OWNER_INDEX,
        KeyConditionExpression: 'ownerId = :owner',
        FilterExpression: '#status <> :deleting',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':owner': ownerId, ':deleting': 'deleting' },
        ScanIndexForward: false,
        Limit: options.limit,
        ExclusiveStartKey: startKey,
      }),
    );
    return {
      items: (result.Items ?? []) as ImageRecord[],
      nextCursor: result.LastEvaluatedKey ? encodeCursor(result.LastEvaluatedKey) : undefined,
    };
  }

  /**
   * One page of the records in `status` last changed before `updatedBefore` (ISO-8601), least recently
   * changed first, from the KEYS_ONLY {@link STATUS_INDEX} (the sweeper's view; eventually consistent, so
   * whoever acts on a key conditions its write on the status and `updatedAt` it saw). `startKey` is the
   * previous page's `nextKey`.
   * See https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html
   */
  async listByStatus(
    status: ImageStatus,
    updatedBefore: string,
    options: { limit: number; startKey?: Record<string, unknown> | undefined },
  ): Promise<{ keys: StatusKey[]; nextKey: Record<string, unknown> | undefined }> {
    const result = await this.#db.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: STATUS_INDEX,
        KeyConditionExpression: '#status = :status AND #updatedAt < :before',
        ExpressionAttributeNames: { '#status': 'status', '#updatedAt': 'updatedAt' },
        ExpressionAttributeValues: { ':status': status, ':before': updatedBefore },
        Limit: options.limit,
        ExclusiveStartKey: options.startKey,
      }),
    );
    return { keys: (result.Items ?? []) as StatusKey[], nextKey: result.LastEvaluatedKey };
  }

  async #transition(
    id: string,
    to: ImageStatus,
    set: Record<string, unknown>,
    remove: string[] = [],
    extraNames: Record<string, string> = {},
    extraCondition?: { clause: string; values: Record<string, unknown> },
  ): Promise<TransitionResult> {
    const from = sourcesOf(to);
    const names: Record<string, string> = { '#status': 'status', '#updatedAt': 'updatedAt', ...extraNames };
    const values: Record<string, unknown> = {
      ':to': to,
      ':now': this.#now().toISOString(),
      ...extraCondition?.values,
    };
    const assignments = ['#status = :to', '#updatedAt = :now'];
    for (const [index, [field, value]] of Object.entries(set).entries()) {
      names[`#f${index}`] = field;
      values[`:f${index}`] = value;
      assignments.push(`#f${index} = :f${index}`);
    }
    // A failure describes the message in the DLQ; any other move means the work went on (or ended).
    const removed = to === 'failed' ? remove : [...remove, 'failure'];
    const removals = removed.map((field, index) => {
      names[`#r${index}`] = field;
      return `#r${index}`;
    });
    const fromPlaceholders = from.map((status, index) => {
      values[`:from${index}`] = status;
      return `:from${index}`;
    });
    try {
      const { Attributes } = await this.#db.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { id },
          UpdateExpression: `SET ${assignments.join(', ')}${removals.length ? ` REMOVE ${removals.join(', ')}` : ''}`,
          ConditionExpression: `attribute_exists(id) AND #status IN (${fromPlaceholders.join(', ')})${
            extraCondition ? ` AND ${extraCondition.clause}` : ''
          }`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { applied: true, record: Attributes as ImageRecord };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        return { applied: false, current: await this.get(id) };
      }
      throw error;
    }
  }
}

/** The repository on the function's configured table, with its own DynamoDB client (one per container). */
export function imageRepository(config: Pick<Config, 'region' | 'endpoint' | 'tableName'>): ImageRepository {
  return new ImageRepository(createDynamoClient(config), config.tableName);
}

interface CursorKey {
  id: string;
  ownerId: string;
  createdAt: string;
}

function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** Parses a client-supplied cursor; anything that is not a key of this owner's listing is a 400. */
function decodeCursor(cursor: string, ownerId: string): CursorKey {
  const invalid = () => new BadRequestError('INVALID_CURSOR', 'cursor is not one this API returned');
  if (cursor.length > 512 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const key = parsed as Partial<CursorKey> | null;
  if (
    typeof key !== 'object' ||
    key === null ||
    Object.keys(key).length !== 3 ||
    !isImageId(key.id) ||
    typeof key.createdAt !== 'string' ||
    Number.isNaN(Date.parse(key.createdAt)) ||
    key.ownerId !== ownerId
  ) {
    throw invalid();
  }
  return { id: key.id, ownerId: key.ownerId, createdAt: key.createdAt };
}
