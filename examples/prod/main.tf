# prod: more memory (faster predictions), bigger batches gathered for up to 5 s, two batches
# per shard, X-Ray tracing, 90-day logs, predictions written to S3, canary inputs wired.
# Deploy with `mlayer deploy --env prod --model-version V`; see README.md, "Deploying with Terraform" for the
# canary and rollback commands.

module "mlayer" {
  source = "../.."

  name_prefix   = var.name_prefix
  manifest_path = var.manifest_path
  model_name    = var.model_name
  model_version = var.model_version

  canary_model_version    = var.canary_model_version
  canary_weight           = var.canary_weight
  stable_function_version = var.stable_function_version

  memory_size           = 2048
  timeout               = 120
  tracing_mode          = "Active"
  log_retention_in_days = 90

  batch_size                         = 500
  maximum_batching_window_in_seconds = 5
  parallelization_factor             = 2
  maximum_retry_attempts             = 5

  sink           = "s3"
  sink_s3_prefix = "predictions/"

  tags = merge({ Environment = "prod", Application = "mlayer" }, var.tags)
}
