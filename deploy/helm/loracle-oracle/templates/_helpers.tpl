{{/* Chart name, truncated to the 63 characters Kubernetes allows in names. */}}
{{- define "loracle-oracle.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified name: release-chart unless the release name already contains the chart name. */}}
{{- define "loracle-oracle.fullname" -}}
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

{{- define "loracle-oracle.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "loracle-oracle.selectorLabels" -}}
app.kubernetes.io/name: {{ include "loracle-oracle.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "loracle-oracle.labels" -}}
helm.sh/chart: {{ include "loracle-oracle.chart" . }}
{{ include "loracle-oracle.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: oracle-node
app.kubernetes.io/part-of: loracle
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "loracle-oracle.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "loracle-oracle.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image reference; the CUDA variant carries a tag suffix. */}}
{{- define "loracle-oracle.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.gpu.enabled }}
{{- $tag = printf "%s%s" $tag .Values.image.cudaTagSuffix }}
{{- end }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}

{{/* Name of the Secret with the oracle key: the operator's, or the one this chart renders for test chains. */}}
{{- define "loracle-oracle.keySecretName" -}}
{{- default (printf "%s-key" (include "loracle-oracle.fullname" .)) .Values.oracleKey.existingSecret }}
{{- end }}

{{/* True when the chart itself must render the key Secret (test chains only). */}}
{{- define "loracle-oracle.rendersKeySecret" -}}
{{- if and (not .Values.oracleKey.existingSecret) (or .Values.oracleKey.privateKey .Values.oracleKey.keystoreJson) }}true{{- end }}
{{- end }}

{{/* True when some Secret provides the key. */}}
{{- define "loracle-oracle.hasKey" -}}
{{- if or .Values.oracleKey.existingSecret (include "loracle-oracle.rendersKeySecret" .) }}true{{- end }}
{{- end }}

{{/* Runtime backend: a GPU request with backend CPU would waste the GPU, so it becomes CUDA. */}}
{{- define "loracle-oracle.backend" -}}
{{- if and .Values.gpu.enabled (eq (upper .Values.model.backend) "CPU") }}CUDA{{- else }}{{ upper .Values.model.backend }}{{- end }}
{{- end }}

{{/* Checks that stop a bad install early with a clear message. */}}
{{- define "loracle-oracle.validate" -}}
{{- if not (has (int .Values.replicaCount) (list 0 1)) }}
{{- fail "replicaCount must be 0 or 1: each oracle node owns one key and manages its nonces alone. Install one release per oracle key to run several nodes." }}
{{- end }}
{{- if not (has .Values.oracleKey.source (list "privateKey" "keystore")) }}
{{- fail "oracleKey.source must be privateKey or keystore" }}
{{- end }}
{{- if and .Values.oracleKey.privateKey .Values.oracleKey.keystoreJson }}
{{- fail "set only one of oracleKey.privateKey and oracleKey.keystoreJson" }}
{{- end }}
{{- if and .Values.oracleKey.privateKey (ne .Values.oracleKey.source "privateKey") }}
{{- fail "oracleKey.privateKey is set: also set oracleKey.source=privateKey" }}
{{- end }}
{{- if not (has .Values.journal.type (list "h2" "postgres")) }}
{{- fail "journal.type must be h2 or postgres" }}
{{- end }}
{{- if and (eq .Values.journal.type "postgres") (not .Values.journal.postgres.url) }}
{{- fail "journal.type=postgres needs journal.postgres.url (jdbc:postgresql://HOST:5432/DB)" }}
{{- end }}
{{- if not (has (upper .Values.model.backend) (list "AUTO" "CPU" "CUDA")) }}
{{- fail "model.backend must be AUTO, CPU or CUDA" }}
{{- end }}
{{- if and (not .Values.persistence.models.existingClaim) (not .Values.persistence.models.create) }}
{{- fail "persistence.models: name an existingClaim or set create=true" }}
{{- end }}
{{- end }}
