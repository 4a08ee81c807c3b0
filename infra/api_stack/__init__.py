"""The CDK app's stack: the one definition of the testbed's AWS resources."""
