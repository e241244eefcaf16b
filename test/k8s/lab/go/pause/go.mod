module invoice-webhook/k8s-lab/pause

go 1.24
