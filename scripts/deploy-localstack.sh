#!/usr/bin/env bash
# Deploys Pictura to a running LocalStack with cdklocal (`npm run deploy:local`), or removes it
# (`npm run destroy:local`, i.e. this script with --destroy).
#
# Start LocalStack first:  docker compose -f docker-compose.localstack.yml up -d
#
# Environment:
#   LOCALSTACK_URL   LocalStack's edge URL (default http://localhost:4566); also the base of variant URLs
#   AWS_REGION       region to deploy to (default us-east-1)
set -euo pipefail

cd "$(dirname "$0")/.."

LOCALSTACK_URL="${LOCALSTACK_URL:-http://localhost:4566}"
LOCALSTACK_URL="${LOCALSTACK_URL%/}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="$AWS_REGION"
# cdklocal drops AWS_* variables it is not told to keep (so that a real profile cannot leak in).
export AWS_ENVAR_ALLOWLIST="${AWS_ENVAR_ALLOWLIST:-AWS_REGION,AWS_DEFAULT_REGION}"
OUTPUTS_FILE="cdk.out/localstack-outputs.json"
CONTEXT=(-c target=localstack -c "localstackUrl=$LOCALSTACK_URL")

fail() {
  printf 'deploy-localstack: %s\n' "$1" >&2
  exit 1
}

# Node 22.18+ runs the TypeScript CDK app directly (type stripping); the project targets Node 24.
node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$node_major" -lt 22 ]; then
  fail "Node.js 22.18 or later is needed (found $(node --version 2>/dev/null || echo none)); Node 24 is recommended."
fi

if ! curl -fsS --max-time 5 "$LOCALSTACK_URL/_localstack/health" >/dev/null 2>&1; then
  if ! command -v docker >/dev/null 2>&1; then
    fail "LocalStack is not answering at $LOCALSTACK_URL, and there is no docker command on this machine.
  LocalStack runs in Docker: install Docker (or point LOCALSTACK_URL at a LocalStack elsewhere).
  Without Docker, use the local cloud instead: npm start"
  fi
  if ! docker info >/dev/null 2>&1; then
    fail "LocalStack is not answering at $LOCALSTACK_URL, and the Docker engine is not running (docker info failed).
  Start Docker, then: docker compose -f docker-compose.localstack.yml up -d"
  fi
  fail "LocalStack is not answering at $LOCALSTACK_URL/_localstack/health.
  Start it:   docker compose -f docker-compose.localstack.yml up -d
  Then wait:  docker compose -f docker-compose.localstack.yml ps   (until it is healthy)
  If it exits at once, the image needs an auth token: see docs/deploy.md (LocalStack image)."
fi

if [ "${1:-}" = "--destroy" ]; then
  echo "Destroying the Pictura stack on LocalStack ($LOCALSTACK_URL, $AWS_REGION)..."
  npx cdklocal destroy --all --force "${CONTEXT[@]}"
  exit 0
fi

echo "Bootstrapping CDK on LocalStack ($LOCALSTACK_URL, $AWS_REGION)..."
npx cdklocal bootstrap "${CONTEXT[@]}"

echo "Deploying Pictura (target=localstack)..."
npx cdklocal deploy --all --require-approval never --outputs-file "$OUTPUTS_FILE" "${CONTEXT[@]}"

echo
echo "Stack outputs ($OUTPUTS_FILE):"
node -e '
  const outputs = Object.values(require(process.argv[1]))[0] ?? {};
  for (const [key, value] of Object.entries(outputs)) console.log(`  ${key.padEnd(16)} ${value}`);
  console.log("\nAPI key value:");
  console.log(`  aws --endpoint-url ${process.argv[2]} apigateway get-api-key --api-key ${outputs.ApiKeyId} --include-value --query value --output text`);
' "$PWD/$OUTPUTS_FILE" "$LOCALSTACK_URL"
