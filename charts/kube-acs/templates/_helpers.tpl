{{/* The release's name prefix of every object. */}}
{{- define "kube-acs.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "kube-acs.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component (pass a dict with root and component). */}}
{{- define "kube-acs.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "kube-acs.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The store URL: the existing TiKV cluster's PDs, or the deployed PD service. */}}
{{- define "kube-acs.storeUrl" -}}
{{- if .Values.tikv.pdAddresses -}}
tikv://{{ join "," .Values.tikv.pdAddresses }}
{{- else -}}
tikv://{{ include "kube-acs.fullname" . }}-pd:2379
{{- end -}}
{{- end -}}

{{- define "kube-acs.deviceNamespace" -}}
{{ .Values.operator.deviceNamespace | default .Release.Namespace }}
{{- end -}}
