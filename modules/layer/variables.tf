variable "layer_name" {
  description = "Lambda layer name. Every upload of a different zip becomes a new version of this layer."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,140}$", var.layer_name))
    error_message = "layer_name must be 1-140 letters, digits, hyphens or underscores."
  }
}

variable "description" {
  description = "Description of the layer version (at most 256 characters)."
  type        = string
  default     = ""

  validation {
    condition     = length(var.description) <= 256
    error_message = "description must be at most 256 characters."
  }
}

variable "zip_path" {
  description = "Local path of the layer zip (relative paths resolve against Terraform's working directory)."
  type        = string

  validation {
    condition     = endswith(var.zip_path, ".zip")
    error_message = "zip_path must point at a .zip file built by `mlayer build`."
  }
}

variable "sha256" {
  description = "Hex SHA-256 of the zip (manifest `sha256`); it names the S3 object, so identical content is never uploaded twice."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.sha256))
    error_message = "sha256 must be 64 lowercase hex characters (the manifest's sha256)."
  }
}

variable "sha256_base64" {
  description = "Base64 SHA-256 of the zip (manifest `sha256_base64`), used as the layer's source_code_hash."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+/]{43}=$", var.sha256_base64))
    error_message = "sha256_base64 must be a base64 SHA-256 (44 characters ending in '='), the manifest's sha256_base64."
  }
}

variable "s3_bucket" {
  description = "Bucket the zip is uploaded to before publishing (layers over 50 MB zipped can only be published from S3)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.s3_bucket))
    error_message = "s3_bucket must be a valid S3 bucket name."
  }
}

variable "s3_key_prefix" {
  description = "Key prefix for uploads; the object key is PREFIX/LAYER_NAME/SHA256.zip."
  type        = string
  default     = "layers"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$", var.s3_key_prefix))
    error_message = "s3_key_prefix must be a key path without leading or trailing slashes, e.g. \"layers\"."
  }
}

variable "compatible_runtimes" {
  description = "Runtimes the layer is published for, e.g. [\"python3.12\"]."
  type        = list(string)

  validation {
    condition     = length(var.compatible_runtimes) >= 1 && length(var.compatible_runtimes) <= 15 && alltrue([for r in var.compatible_runtimes : can(regex("^python3\\.(11|12|13)$", r))])
    error_message = "compatible_runtimes must list 1-15 of python3.11, python3.12, python3.13."
  }
}

variable "compatible_architectures" {
  description = "Instruction set architectures the layer is published for: x86_64 and/or arm64."
  type        = list(string)

  validation {
    condition     = length(var.compatible_architectures) >= 1 && length(var.compatible_architectures) <= 2 && alltrue([for a in var.compatible_architectures : contains(["x86_64", "arm64"], a)])
    error_message = "compatible_architectures must list x86_64 and/or arm64."
  }
}

variable "license_info" {
  description = "License of the layer's content (SPDX identifier or URL), shown with the layer version. null for none."
  type        = string
  default     = null

  validation {
    condition     = var.license_info == null || length(coalesce(var.license_info, "x")) <= 512
    error_message = "license_info must be at most 512 characters."
  }
}

variable "kms_key_arn" {
  description = "KMS key to encrypt the uploaded object with. null uses the bucket's default encryption."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "tags" {
  description = "Tags applied to the uploaded S3 object (layer versions cannot be tagged)."
  type        = map(string)
  default     = {}
}
