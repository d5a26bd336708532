"""The e2e tests' name for the HTTP proxy that cuts connections (`bench.cut_proxy`, where
the fault benchmark uses it too)."""

from bench.cut_proxy import CutProxy as CutProxy
