"""A 15-second guided protocol shared by the browser and desktop-recorder tests."""

SHORT_PROTOCOL = """
name = "test-short"
version = 1
description = "A 15-second protocol for tests."

[[step]]
movement = "rest"
duration_s = 2.5
prompt = "Relax your face and look at the camera."

[[step]]
movement = "smile"
duration_s = 3.5
prompt = "Smile gently, lips closed. Small is fine: no need to push."

[[step]]
movement = "rest"
duration_s = 3.0
prompt = "Relax. Let your face go soft."

[[step]]
movement = "eye_closure"
duration_s = 3.5
prompt = "Close your eyes gently, as if falling asleep. Do not squeeze."

[[step]]
movement = "rest"
duration_s = 2.5
prompt = "Relax. Let your face go soft."
"""
