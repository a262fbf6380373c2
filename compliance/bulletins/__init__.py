"""The bureau's weekly bulletin (周通报) and monthly review (月复盘).

``build.build_bulletin`` reads the period's figures into one dataclass tree (``data``); the page,
the PDF (``pdf``) and the workbook (``excel``) are all drawn from that tree, so what a district
reads on screen, prints and opens in Excel is the same set of numbers. ``services`` freezes a
published bulletin (its data as JSON plus both files); ``jobs`` are the scheduler's entries.
"""
