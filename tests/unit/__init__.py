"""Tests of one module or a few, in process: no server started over stdio."""
