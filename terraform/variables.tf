variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "ap-southeast-2"
}

variable "project" {
  description = "Name prefix of every resource."
  type        = string
  default     = "enterprise-otel"
}

variable "environment" {
  description = "Environment name (dev, staging, prod)."
  type        = string
  default     = "dev"
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC."
  type        = string
  default     = "10.20.0.0/16"
}

variable "image_tag" {
  description = "Tag (the commit SHA) of the four images the workflow pushed to ECR: app, oxidot, loki, grafana."
  type        = string

  validation {
    condition     = length(var.image_tag) > 0 && var.image_tag != "latest"
    error_message = "Set image_tag to the tag the images were pushed with (CI uses the commit SHA); nothing pushes :latest."
  }
}

variable "app_desired_count" {
  description = "Number of app tasks (each with its oxidot sidecar)."
  type        = number
  default     = 1
}

variable "grafana_admin_password" {
  description = "Grafana admin password, stored in SSM as a SecureString."
  type        = string
  sensitive   = true
}

variable "github_repository" {
  description = "owner/name of the GitHub repository allowed to deploy through OIDC."
  type        = string
  default     = "example/oxidot"
}

variable "github_branch" {
  description = "Branch allowed to deploy."
  type        = string
  default     = "main"
}

variable "log_retention_days" {
  description = "CloudWatch log retention."
  type        = number
  default     = 14
}

variable "gateway_enabled" {
  description = "Run a gateway tier of oxidot (its own ECS service, found through Cloud Map DNS); the sidecars then send everything to it with the loadbalancing exporter (README: Scaling out)."
  type        = bool
  default     = false
}

variable "gateway_desired_count" {
  description = "Number of gateway tasks when gateway_enabled."
  type        = number
  default     = 2
}
