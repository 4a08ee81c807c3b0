"""The deploy pipeline: template files, synth, lint, assets, CloudFormation, guards, seed, watch."""
