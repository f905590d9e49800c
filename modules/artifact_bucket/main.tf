# The bucket the layer and function zips are uploaded to (and, optionally, the S3 sink).
# Created hardened (versioning, default encryption, no public access, TLS only, noncurrent
# versions expired) or an existing bucket looked up by name.

locals {
  bucket_id  = var.create ? aws_s3_bucket.this[0].id : data.aws_s3_bucket.existing[0].id
  bucket_arn = var.create ? aws_s3_bucket.this[0].arn : data.aws_s3_bucket.existing[0].arn
}

data "aws_s3_bucket" "existing" {
  count = var.create ? 0 : 1

  bucket = var.bucket_name

  lifecycle {
    precondition {
      condition     = var.bucket_name != null
      error_message = "artifact bucket: create = false needs bucket_name, the existing bucket to upload artifacts to."
    }
  }
}

resource "aws_s3_bucket" "this" {
  count = var.create ? 1 : 0

  #checkov:skip=CKV_AWS_144:Cross-region replication is not needed: every object is a build output that `mlayer build all` reproduces byte for byte.
  #checkov:skip=CKV2_AWS_62:No consumer reacts to uploads; Terraform itself publishes the layers right after uploading.
  #checkov:skip=CKV_AWS_145:Default encryption is always on: SSE-KMS with var.kms_key_arn when set (recommended when the S3 sink writes predictions here), SSE-S3 otherwise for what is only code and model weights.
  #checkov:skip=CKV_AWS_18:Access logging is opt-in through var.access_log_bucket (aws_s3_bucket_logging below); a log bucket is account infrastructure this module does not own.
  bucket        = var.bucket_name
  bucket_prefix = var.bucket_name == null ? var.bucket_prefix : null
  force_destroy = var.force_destroy
  tags          = var.tags

  lifecycle {
    precondition {
      condition     = var.bucket_name != null || var.bucket_prefix != null
      error_message = "artifact bucket: set bucket_name or bucket_prefix to name the new bucket."
    }
  }
}

resource "aws_s3_bucket_ownership_controls" "this" {
  count = var.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  count = var.create ? 1 : 0

  bucket                  = aws_s3_bucket.this[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  count = var.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  count = var.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  count = var.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    # Every object. `filter {}` warns on provider 5.90-5.98 and no filter at all warns from 5.90;
    # an empty prefix means the same and is clean across the whole supported range.
    filter {
      prefix = ""
    }

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # Lifecycle rules on noncurrent versions need versioning to be on first.
  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_logging" "this" {
  count = var.create && var.access_logging ? 1 : 0

  bucket        = aws_s3_bucket.this[0].id
  target_bucket = var.access_log_bucket
  target_prefix = var.access_log_prefix

  lifecycle {
    precondition {
      condition     = var.access_log_bucket != null
      error_message = "artifact bucket: access logging needs artifact_bucket_access_log_bucket, the bucket receiving the logs."
    }
  }
}

data "aws_iam_policy_document" "tls_only" {
  count = var.create ? 1 : 0

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this[0].arn, "${aws_s3_bucket.this[0].arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  count = var.create ? 1 : 0

  bucket = aws_s3_bucket.this[0].id
  policy = data.aws_iam_policy_document.tls_only[0].json

  # S3 rejects a bucket policy while the public access block is still being applied.
  depends_on = [aws_s3_bucket_public_access_block.this]
}
