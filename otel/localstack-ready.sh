#!/usr/bin/env bash
# LocalStack init hook (mounted into /etc/localstack/init/ready.d by otel/compose.yaml): the queue
# the service sends to.
set -euo pipefail
awslocal sqs create-queue --queue-name invoices >/dev/null
echo "localstack-ready: queue invoices created"
