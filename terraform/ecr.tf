# One repository per image the workflow builds. Tags are commit SHAs and never move.
resource "aws_ecr_repository" "app" {
  name                 = "${var.project}-app"
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration {
    scan_on_push = true
  }
}

resource "aws_ecr_repository" "collector" {
  name                 = "${var.project}-oxidot"
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration {
    scan_on_push = true
  }
}

# grafana/loki with deploy/loki/loki-aws.yaml (S3 storage) baked in.
resource "aws_ecr_repository" "loki" {
  name                 = "${var.project}-loki"
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration {
    scan_on_push = true
  }
}

# grafana/grafana with the X-Ray plugin, the AWS data sources and the two dashboards baked in.
resource "aws_ecr_repository" "grafana" {
  name                 = "${var.project}-grafana"
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration {
    scan_on_push = true
  }
}
