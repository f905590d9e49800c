# complete: every input of the module, with one customer managed KMS key for everything
# (bucket, stream, failure queue, sink table, environment, logs), a provisioned stream read
# through enhanced fan-out, a DynamoDB sink, X-Ray, reserved concurrency and a canary wired
# through variables. It is the configuration the moto-backed tests plan and apply.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:A key policy's Resource "*" means this key only; the account root keeps administering it, as AWS's default key policy does.
  #checkov:skip=CKV_AWS_111:A key policy's Resource "*" means this key only; write access stays within this account.
  #checkov:skip=CKV_AWS_356:A key policy's Resource "*" means this key only.
  statement {
    sid       = "AccountAdministersKey"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogsEncryptsThisAccountsLogGroups"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${var.aws_region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${var.aws_region}:${data.aws_caller_identity.current.account_id}:log-group:*"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name_prefix}: mlayer artifacts, stream, queue, sink, environment and logs"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name_prefix}"
  target_key_id = aws_kms_key.this.key_id
}

module "mlayer" {
  source = "../.."

  name_prefix = var.name_prefix
  tags        = var.tags

  manifest_path    = var.manifest_path
  deps_layer       = var.deps_layer
  lean_deps_layer  = var.lean_deps_layer
  function_package = var.function_package
  model_layers     = var.model_layers

  model_name              = var.model_name
  model_version           = var.model_version
  canary_model_version    = var.canary_model_version
  canary_weight           = var.canary_weight
  stable_function_version = var.stable_function_version

  record_format           = "json"
  text_field              = "textblob"
  text_field_json_encoded = true

  runtime                        = var.runtime
  architecture                   = var.architecture
  memory_size                    = 1536
  timeout                        = 90
  reserved_concurrent_executions = 10
  environment_variables          = { LOG_LEVEL = "INFO" }
  additional_layer_arns          = var.additional_layer_arns
  tracing_mode                   = "Active"
  log_retention_in_days          = 365
  vpc_subnet_ids                 = var.vpc_subnet_ids
  vpc_security_group_ids         = var.vpc_security_group_ids
  permissions_boundary_arn       = var.permissions_boundary_arn

  kms_key_arn             = aws_kms_key.this.arn
  log_kms_key_arn         = aws_kms_key.this.arn
  additional_kms_key_arns = var.additional_kms_key_arns

  create_artifact_bucket                      = true
  artifact_bucket_name                        = null
  artifact_bucket_force_destroy               = true
  artifact_noncurrent_version_expiration_days = 30
  artifact_bucket_access_logging              = var.artifact_bucket_access_log_bucket != null
  artifact_bucket_access_log_bucket           = var.artifact_bucket_access_log_bucket

  create_stream          = true
  stream_arn             = null
  stream_mode            = "PROVISIONED"
  stream_shard_count     = 2
  stream_retention_hours = 48
  use_enhanced_fan_out   = var.use_enhanced_fan_out

  trigger_enabled                         = true
  batch_size                              = 1000
  maximum_batching_window_in_seconds      = 10
  starting_position                       = "TRIM_HORIZON"
  starting_position_timestamp             = null
  parallelization_factor                  = 2
  bisect_batch_on_function_error          = true
  maximum_retry_attempts                  = 5
  maximum_record_age_in_seconds           = 3600
  function_response_types                 = ["ReportBatchItemFailures"]
  failure_queue_message_retention_seconds = 345600

  sink = var.sink
  # Undecodable records go to the sink as dead-letter entries instead of being retried
  # (dead-letter needs a sink, so with sink = "none" they are reported).
  invalid_records                   = var.sink == "none" ? "report" : "dead-letter"
  sink_s3_bucket_name               = null
  sink_s3_prefix                    = "predictions/"
  sink_create_dynamodb_table        = true
  sink_dynamodb_table_arn           = null
  sink_dynamodb_deletion_protection = false
  sink_create_kinesis_stream        = true
  sink_kinesis_stream_arn           = null
}
