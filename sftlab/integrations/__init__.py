"""Bridges to training frameworks outside TRL (verl), reusing sftlab's task rewards unchanged."""
