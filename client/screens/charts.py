"""Charts drawn with plain containers: they need no chart package, so they look the same
in the PWA, on a phone and on a desktop, and fit a 360 px screen."""

import flet as ft

BAR = ft.Colors.TEAL_600
TRACK = ft.Colors.GREY_300


def columns(values: list[tuple[str, float | None]], key: str, height: int = 80) -> ft.Control:
    """A bar per value in 0…1 (None: nothing was due, drawn as an empty track), oldest
    first; `values` are (label for screen readers, value)."""
    bars: list[ft.Control] = []
    for label, value in values:
        filled = 0 if value is None else max(2, round(height * value))
        bars.append(
            ft.Container(
                ft.Column(
                    [
                        ft.Container(height=height - filled, bgcolor=TRACK),
                        ft.Container(height=filled, bgcolor=BAR),
                    ],
                    spacing=0,
                ),
                expand=True,
                tooltip=label,
            )
        )
    return ft.Row(bars, spacing=2, key=key, height=height)


def bars(rows: list[tuple[str, int, int, str]], key: str) -> ft.Control:
    """A horizontal bar per row: (label, value, of, text shown after it)."""
    lines: list[ft.Control] = []
    for label, value, total, shown in rows:
        share = value / total if total else 0.0
        lines.append(
            ft.Column(
                [
                    ft.Text(f"{label}  {shown}", size=13),
                    ft.Row(
                        [
                            ft.Container(height=10, bgcolor=BAR, expand=max(1, round(share * 100)))
                            if value
                            else ft.Container(width=0),
                            ft.Container(
                                height=10, bgcolor=TRACK, expand=max(1, round((1 - share) * 100))
                            ),
                        ],
                        spacing=0,
                    ),
                ],
                spacing=2,
            )
        )
    return ft.Column(lines, spacing=6, key=key)
