# dev: one small function on an on-demand stream, short log retention, no sink (by default), and a bucket
# that `terraform destroy` may empty. Deploy with `mlayer deploy --env dev`.

module "mlayer" {
  source = "../.."

  name_prefix   = var.name_prefix
  manifest_path = var.manifest_path
  model_name    = var.model_name
  model_version = var.model_version

  memory_size           = 512
  timeout               = 60
  batch_size            = 100
  log_retention_in_days = 7
  sink                  = var.sink

  artifact_bucket_force_destroy     = true
  sink_dynamodb_deletion_protection = false

  tags = merge({ Environment = "dev", Application = "mlayer" }, var.tags)
}
