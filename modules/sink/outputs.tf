output "environment" {
  description = "The handler's sink settings: SINK plus SINK_S3_BUCKET/SINK_S3_PREFIX, SINK_DYNAMODB_TABLE or SINK_KINESIS_STREAM."
  value       = local.environment
}

output "s3_bucket_arn" {
  description = "ARN of the sink bucket (kind = s3), else null."
  value       = local.s3_bucket_arn
}

output "s3_prefix" {
  description = "Key prefix predictions are written under (kind = s3), else \"\"."
  value       = var.kind == "s3" ? var.s3_prefix : ""
}

output "dynamodb_table_arn" {
  description = "ARN of the sink table (kind = dynamodb), else null."
  value       = local.dynamodb_table_arn
}

output "kinesis_stream_arn" {
  description = "ARN of the output stream (kind = kinesis), else null."
  value       = local.kinesis_stream_arn
}

output "target" {
  description = "Human-readable destination: s3://BUCKET/PREFIX, the table or stream name, or none."
  value       = var.kind == "s3" ? "s3://${var.s3_bucket_name}/${var.s3_prefix}" : var.kind == "dynamodb" ? local.dynamodb_table_name : var.kind == "kinesis" ? local.kinesis_stream_name : "none"
}
