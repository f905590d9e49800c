# Where predictions go: nowhere (none), an S3 prefix, a DynamoDB table or a Kinesis stream,
# each created here (encrypted) or given. Outputs the handler's SINK_* environment and the
# ARNs the execution role may write to.

locals {
  # Booleans, never `arn == null`: an ARN created in the same configuration is unknown at plan.
  create_table  = var.kind == "dynamodb" && var.create_dynamodb_table
  create_stream = var.kind == "kinesis" && var.create_kinesis_stream

  s3_bucket_arn = var.kind == "s3" ? "arn:${data.aws_partition.current.partition}:s3:::${var.s3_bucket_name}" : null

  dynamodb_table_arn  = var.kind != "dynamodb" ? null : local.create_table ? aws_dynamodb_table.this[0].arn : var.dynamodb_table_arn
  dynamodb_table_name = var.kind != "dynamodb" ? null : local.create_table ? aws_dynamodb_table.this[0].name : element(split("/", var.dynamodb_table_arn), 1)

  kinesis_stream_arn  = var.kind != "kinesis" ? null : local.create_stream ? aws_kinesis_stream.this[0].arn : var.kinesis_stream_arn
  kinesis_stream_name = var.kind != "kinesis" ? null : local.create_stream ? aws_kinesis_stream.this[0].name : element(split("/", var.kinesis_stream_arn), 1)

  environment = merge(
    { SINK = var.kind },
    var.kind == "s3" ? { SINK_S3_BUCKET = var.s3_bucket_name, SINK_S3_PREFIX = var.s3_prefix } : {},
    var.kind == "dynamodb" ? { SINK_DYNAMODB_TABLE = local.dynamodb_table_name } : {},
    var.kind == "kinesis" ? { SINK_KINESIS_STREAM = local.kinesis_stream_name } : {},
  )
}

data "aws_partition" "current" {
  lifecycle {
    precondition {
      condition     = var.kind != "s3" || var.s3_bucket_name != null
      error_message = "sink: kind = s3 needs s3_bucket_name."
    }
    precondition {
      condition     = var.kind != "dynamodb" || var.create_dynamodb_table == (var.dynamodb_table_arn == null)
      error_message = "sink = dynamodb: set sink_create_dynamodb_table = false together with sink_dynamodb_table_arn (an existing table), or leave both at their defaults to create one."
    }
    precondition {
      condition     = var.kind != "kinesis" || var.create_kinesis_stream == (var.kinesis_stream_arn == null)
      error_message = "sink = kinesis: set sink_create_kinesis_stream = false together with sink_kinesis_stream_arn (an existing stream), or leave both at their defaults to create one."
    }
  }
}

resource "aws_dynamodb_table" "this" {
  count = local.create_table ? 1 : 0

  #checkov:skip=CKV_AWS_119:Encrypted at rest always; a customer managed key is used when var.kms_key_arn is set, the AWS managed key (alias/aws/dynamodb) otherwise (enabled = true without a key; the AWS owned key would be enabled = false).
  #checkov:skip=CKV2_AWS_16:On-demand (PAY_PER_REQUEST) capacity scales by itself; auto scaling applies to provisioned tables only.
  name                        = "${var.name}-predictions"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "eventID" # the handler writes one item per record keyed by its Kinesis eventID
  deletion_protection_enabled = var.deletion_protection
  tags                        = var.tags

  attribute {
    name = "eventID"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }
}

resource "aws_kinesis_stream" "this" {
  count = local.create_stream ? 1 : 0

  #checkov:skip=CKV_AWS_185:The stream is KMS-encrypted; with var.kms_key_arn unset it uses the AWS managed key alias/aws/kinesis.
  name             = "${var.name}-predictions"
  retention_period = 24
  encryption_type  = "KMS"
  kms_key_id       = coalesce(var.kms_key_arn, "alias/aws/kinesis")
  tags             = var.tags

  stream_mode_details {
    stream_mode = "ON_DEMAND"
  }
}
