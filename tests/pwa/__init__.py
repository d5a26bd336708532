"""The PWA: its build and the app in Chromium."""
