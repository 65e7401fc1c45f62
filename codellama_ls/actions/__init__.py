"""Instruction actions on code: what they ask (pure), the run on the engine thread, the commands on the loop."""
