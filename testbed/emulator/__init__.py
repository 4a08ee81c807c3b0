"""The emulator: MiniStack started with the testbed's patches (`python -m testbed.emulator`)."""
