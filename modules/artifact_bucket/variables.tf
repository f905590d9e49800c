variable "create" {
  description = "Create the bucket (true) or use the existing bucket named by bucket_name (false)."
  type        = bool
  default     = true
}

variable "bucket_name" {
  description = "Exact bucket name: the existing bucket when create = false, or the name of the new bucket. null with create = true names it from bucket_prefix."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens."
  }
}

variable "bucket_prefix" {
  description = "Prefix for a generated, globally unique bucket name (used when create = true and bucket_name = null)."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_prefix == null || can(regex("^[a-z0-9][a-z0-9.-]{0,36}$", var.bucket_prefix))
    error_message = "bucket_prefix must be 1-37 lowercase letters, digits, dots and hyphens (S3 appends a unique suffix)."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete a bucket that still holds objects (every layer zip and object version)."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for default encryption (SSE-KMS with an S3 bucket key). null uses SSE-S3 (AES-256)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which a replaced (noncurrent) object version is deleted. Current objects are never expired: the deployed zips stay."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number of days, at least 1."
  }
}

variable "access_logging" {
  description = "Write server access logs to access_log_bucket. A boolean, not access_log_bucket != null: the bucket may be created in the same configuration, its name unknown until apply."
  type        = bool
  default     = false
}

variable "access_log_bucket" {
  description = "Bucket receiving S3 server access logs for this bucket when access_logging is true."
  type        = string
  default     = null

  validation {
    condition     = var.access_log_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_log_bucket))
    error_message = "access_log_bucket must be a valid S3 bucket name."
  }
}

variable "access_log_prefix" {
  description = "Key prefix for access log objects in access_log_bucket."
  type        = string
  default     = "s3-access-logs/"

  validation {
    condition     = var.access_log_prefix == "" || (!startswith(var.access_log_prefix, "/") && endswith(var.access_log_prefix, "/"))
    error_message = "access_log_prefix must be empty or end with '/' and not start with one, e.g. \"s3-access-logs/\"."
  }
}

variable "tags" {
  description = "Tags applied to the bucket."
  type        = map(string)
  default     = {}
}
