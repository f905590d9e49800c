# One Lambda layer version from one zip: upload it under a content-addressed key, then publish.
# Used twice by the root module: for the dependencies layer and for the model layer.

locals {
  # Content-addressed: a new zip gets a new key, the same zip keeps its key (no re-upload).
  s3_key = "${var.s3_key_prefix}/${var.layer_name}/${var.sha256}.zip"
}

resource "aws_s3_object" "this" {
  bucket       = var.s3_bucket
  key          = local.s3_key
  source       = var.zip_path
  content_type = "application/zip"
  kms_key_id   = var.kms_key_arn
  # Recorded in state only; the key already changes with the content (etag is no MD5 under SSE-KMS).
  source_hash = var.sha256
  tags        = var.tags

  lifecycle {
    # The key holds the content's sha256, so new content is a new object. The path the zip is
    # read from is not content: `mlayer deploy` passes it absolute, a plain `terraform plan`
    # relative, and neither may re-upload an unchanged zip.
    ignore_changes = [source]
  }
}

resource "aws_lambda_layer_version" "this" {
  layer_name               = var.layer_name
  description              = var.description
  s3_bucket                = aws_s3_object.this.bucket
  s3_key                   = aws_s3_object.this.key
  source_code_hash         = var.sha256_base64
  compatible_runtimes      = var.compatible_runtimes
  compatible_architectures = var.compatible_architectures
  license_info             = var.license_info

  # Replacing this resource (a new zip) publishes a new version and leaves the old one in
  # Lambda: published function versions keep pointing at it, so an alias can move back to
  # them (rollback, canary) without a rebuild. `terraform destroy` leaves versions too.
  skip_destroy = true
}
