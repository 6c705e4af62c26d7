import type { APIGatewayProxyResult } from 'aws-lambda';

/** A JSON response. API responses are per-caller or change as processing advances: never cached. */
export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}
