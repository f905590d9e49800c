output "bucket_id" {
  description = "Name of the artifact bucket (created or existing). Available once encryption, versioning and the TLS policy are in place, so nothing is uploaded before them."
  value       = local.bucket_id

  depends_on = [
    aws_s3_bucket_server_side_encryption_configuration.this,
    aws_s3_bucket_versioning.this,
    aws_s3_bucket_policy.this,
  ]
}

output "bucket_arn" {
  description = "ARN of the artifact bucket."
  value       = local.bucket_arn
}

output "created" {
  description = "Whether this module created the bucket."
  value       = var.create
}
