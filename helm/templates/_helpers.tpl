{{/* Chart name, overridable with nameOverride. */}}
{{- define "invoice-webhook.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full resource name: fullnameOverride, or <release>-<chart> (just <release> when it already holds the chart name). */}}
{{- define "invoice-webhook.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "invoice-webhook.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every resource. */}}
{{- define "invoice-webhook.labels" -}}
helm.sh/chart: {{ include "invoice-webhook.chart" . }}
{{ include "invoice-webhook.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the pods: never change them after the first install (Deployment selectors are immutable). */}}
{{- define "invoice-webhook.selectorLabels" -}}
app.kubernetes.io/name: {{ include "invoice-webhook.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The workload kind: with persistence a StatefulSet (each pod keeps its own claim), else a Deployment. */}}
{{- define "invoice-webhook.workloadKind" -}}
{{- if .Values.persistence.enabled }}StatefulSet{{ else }}Deployment{{ end }}
{{- end }}

{{- define "invoice-webhook.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "invoice-webhook.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "invoice-webhook.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* Name of the Secret holding WEBHOOK_SECRETS, or empty when signatures are off. */}}
{{- define "invoice-webhook.webhookSecretName" -}}
{{- if .Values.webhookSecrets.existingSecret }}
{{- .Values.webhookSecrets.existingSecret }}
{{- else if .Values.webhookSecrets.value }}
{{- include "invoice-webhook.fullname" . }}
{{- end }}
{{- end }}

{{- define "invoice-webhook.webhookSecretKey" -}}
{{- if .Values.webhookSecrets.existingSecret }}
{{- .Values.webhookSecrets.existingSecretKey }}
{{- else }}
{{- print "WEBHOOK_SECRETS" }}
{{- end }}
{{- end }}

{{/*
The environment variable behind each `config` value: the service's ENVIRONMENT table
(src/config/schema.ts). test/helm checks every name against it.
*/}}
{{- define "invoice-webhook.configEnvNames" -}}
sqsQueueUrl: SQS_QUEUE_URL
sqsEndpoint: SQS_ENDPOINT
awsRegion: AWS_REGION
sqsRequestTimeoutMs: SQS_REQUEST_TIMEOUT_MS
bodyLimitBytes: BODY_LIMIT_BYTES
bufferCapacity: BUFFER_CAPACITY
bufferMaxBytes: BUFFER_MAX_BYTES
bufferHighWaterRatio: BUFFER_HIGH_WATER_RATIO
batchMaxMessages: BATCH_MAX_MESSAGES
batchLingerMs: BATCH_LINGER_MS
flushConcurrency: FLUSH_CONCURRENCY
flushConcurrencyMin: FLUSH_CONCURRENCY_MIN
flushConcurrencyMax: FLUSH_CONCURRENCY_MAX
retryBaseMs: RETRY_BASE_MS
retryMaxMs: RETRY_MAX_MS
shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS
ackMode: ACK_MODE
confirmTimeoutMs: CONFIRM_TIMEOUT_MS
signatureScheme: SIGNATURE_SCHEME
signatureToleranceSeconds: SIGNATURE_TOLERANCE_SECONDS
dedupeWindowSeconds: DEDUPE_WINDOW_SECONDS
dedupeMaxEntries: DEDUPE_MAX_ENTRIES
dedupeKey: DEDUPE_KEY
fifoGroupIdField: SQS_FIFO_GROUP_ID_FIELD
fifoDeduplicationIdField: SQS_FIFO_DEDUPLICATION_ID_FIELD
fifoGroupIdPointer: SQS_FIFO_GROUP_ID_POINTER
fifoDeduplicationIdPointer: SQS_FIFO_DEDUPLICATION_ID_POINTER
invoiceSchemaFile: INVOICE_SCHEMA_FILE
invoiceIdPointer: INVOICE_ID_POINTER
forwardSignatureHeaders: FORWARD_SIGNATURE_HEADERS
logLevel: LOG_LEVEL
httpRequestTimeoutMs: HTTP_REQUEST_TIMEOUT_MS
httpHeadersTimeoutMs: HTTP_HEADERS_TIMEOUT_MS
httpKeepAliveTimeoutMs: HTTP_KEEPALIVE_TIMEOUT_MS
httpMaxHeadersCount: HTTP_MAX_HEADERS
overloadMaxInFlightRequests: OVERLOAD_MAX_IN_FLIGHT_REQUESTS
overloadMaxEventLoopDelayMs: OVERLOAD_MAX_EVENT_LOOP_DELAY_MS
overloadMinEventLoopUtilization: OVERLOAD_MIN_EVENT_LOOP_UTILIZATION
overloadRetryAfterSeconds: OVERLOAD_RETRY_AFTER_SECONDS
{{- end }}

{{/* A value as an environment string. Values files hold numbers as floats: print whole ones without an exponent (6.7108864e+07). */}}
{{- define "invoice-webhook.envValue" -}}
{{- if and (kindIs "float64" .) (eq (floor .) .) }}
{{- int64 . | toString }}
{{- else }}
{{- toString . }}
{{- end }}
{{- end }}

{{/*
terminationGracePeriodSeconds: longer than the preStop pause plus the drain budget, or rendering fails.
The kubelet counts the preStop pause inside the grace period, so both must fit, plus slack for exit.
The drain budget includes one SQS request timeout: a call already on the wire when SHUTDOWN_TIMEOUT_MS
runs out is allowed to finish, so that its outcome is known before the leftovers are dead-lettered.
With the hand-off on (journal and handoff enabled), HANDOFF_TIMEOUT_MS follows the drain: the leftovers
go to a Ready peer before the pod exits.
*/}}
{{- define "invoice-webhook.terminationGracePeriodSeconds" -}}
{{- $pause := int64 .Values.shutdown.preStopSleepSeconds }}
{{- $handoffMs := and .Values.journal.enabled .Values.handoff.enabled | ternary (int64 .Values.handoff.timeoutMs) 0 }}
{{- $drain := div (add (int64 .Values.config.shutdownTimeoutMs) (int64 .Values.config.sqsRequestTimeoutMs) $handoffMs 999) 1000 }}
{{- $needed := add $pause $drain }}
{{- if kindIs "invalid" .Values.shutdown.terminationGracePeriodSeconds }}
{{- add $needed (int64 .Values.shutdown.extraGraceSeconds) }}
{{- else }}
{{- $grace := int64 .Values.shutdown.terminationGracePeriodSeconds }}
{{- if le $grace $needed }}
{{- fail (printf "shutdown.terminationGracePeriodSeconds (%d) must be longer than shutdown.preStopSleepSeconds (%d) + config.shutdownTimeoutMs, one config.sqsRequestTimeoutMs and handoff.timeoutMs in seconds (%d) = %d, or the kubelet kills the pod mid-drain" $grace $pause $drain $needed) }}
{{- end }}
{{- $grace }}
{{- end }}
{{- end }}

{{/* Name of the Secret holding HANDOFF_TOKEN: the user's, or the one the chart makes. */}}
{{- define "invoice-webhook.handoffSecretName" -}}
{{- if .Values.handoff.existingSecret }}
{{- .Values.handoff.existingSecret }}
{{- else }}
{{- printf "%s-handoff" (include "invoice-webhook.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* The TCP port of a URL: its explicit port, else 443 for https and 80 for http. */}}
{{- define "invoice-webhook.urlPort" -}}
{{- $url := urlParse . }}
{{- $port := regexFind ":[0-9]+$" $url.host | trimPrefix ":" }}
{{- if $port }}{{ $port }}{{ else if eq $url.scheme "https" }}443{{ else }}80{{ end }}
{{- end }}
