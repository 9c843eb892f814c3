"""Shared test fixtures: scripted and real model servers, editors."""
