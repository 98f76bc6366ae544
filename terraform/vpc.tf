# Public subnets for the external ALB and the NAT gateway; private subnets for every task.
module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "~> 5.8"

  name            = local.name
  cidr            = var.vpc_cidr
  azs             = local.azs
  public_subnets  = [for i, _ in local.azs : cidrsubnet(var.vpc_cidr, 8, i)]
  private_subnets = [for i, _ in local.azs : cidrsubnet(var.vpc_cidr, 8, i + 10)]

  enable_nat_gateway   = true
  single_nat_gateway   = true # the main running cost: one is enough for dev
  enable_dns_hostnames = true
  enable_dns_support   = true
}
