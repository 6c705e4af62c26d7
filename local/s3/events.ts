/** The fields of an S3 object that an event notification carries. */
export interface S3ObjectFacts {
  bucket: string;
  key: string;
  size: number;
  eTag: string;
  region: string;
  /** `Put`, `Post`, `Copy` or `CompleteMultipartUpload`. */
  api: 'Put' | 'Post' | 'Copy' | 'CompleteMultipartUpload';
}

let sequence = 0;

/**
 * Builds the S3 `ObjectCreated` event notification JSON exactly as S3 delivers it to SQS (event version 2.1,
 * keys URL-encoded with `+` for spaces), so consumers are tested against the real shape.
 */
export function objectCreatedEvent(facts: S3ObjectFacts, now = new Date()): string {
  sequence += 1;
  const encodedKey = encodeURIComponent(facts.key).replaceAll('%20', '+').replaceAll('%2F', '/');
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: facts.region,
        eventTime: now.toISOString(),
        eventName: `ObjectCreated:${facts.api}`,
        userIdentity: { principalId: 'AWS:LOCAL' },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: { 'x-amz-request-id': 'LOCAL', 'x-amz-id-2': 'LOCAL' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'pictura-local',
          bucket: {
            name: facts.bucket,
            ownerIdentity: { principalId: 'LOCAL' },
            arn: `arn:aws:s3:::${facts.bucket}`,
          },
          object: {
            key: encodedKey,
            size: facts.size,
            eTag: facts.eTag.replaceAll('"', ''),
            sequencer: `${Date.now().toString(16).toUpperCase()}${sequence.toString(16).padStart(6, '0')}`,
          },
        },
      },
    ],
  });
}
