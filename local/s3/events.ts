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
 * An object key as S3 writes it in an event notification: "URL encoded … (Amazon S3 returns
 * application/x-www-form-urlencoded as the content type)" — form encoding of the UTF-8 bytes, which keeps only
 * `A-Z a-z 0-9 * - . _` and writes a space as `+` — except that `/` stays as it is
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).
 * So `( ) ~ ! '` are percent-encoded, which `encodeURIComponent` leaves alone: `a b(1)~!'.jpg` → `a+b%281%29%7E%21%27.jpg`.
 */
export function s3EventKey(key: string): string {
  let encoded = '';
  for (const byte of Buffer.from(key, 'utf8')) {
    const char = String.fromCharCode(byte);
    if (/[A-Za-z0-9*\-._/]/.test(char)) encoded += char;
    else if (char === ' ') encoded += '+';
    else encoded += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

/**
 * Builds the S3 `ObjectCreated` event notification JSON exactly as S3 delivers it to SQS (event version 2.1,
 * keys URL-encoded with `+` for spaces), so consumers are tested against the real shape.
 */
export function objectCreatedEvent(facts: S3ObjectFacts, now = new Date()): string {
  sequence += 1;
  const encodedKey = s3EventKey(facts.key);
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
