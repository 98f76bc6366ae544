terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.60"
    }
  }
  # State in S3 with DynamoDB locking: create both once with ./bootstrap-state.sh.
  backend "s3" {
    bucket         = "enterprise-otel-tf-state"
    key            = "oxidot/dev/terraform.tfstate"
    region         = "ap-southeast-2"
    dynamodb_table = "enterprise-otel-tf-lock"
    encrypt        = true
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = {
      Project     = var.project
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}

data "aws_caller_identity" "current" {}
data "aws_availability_zones" "available" {
  state = "available"
}
