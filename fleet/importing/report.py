"""What an import found: file-level refusals, per-row errors and the counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RowError:
    row: int  # spreadsheet row number as the user sees it (header row = 1 in a plain sheet)
    column: str  # the heading as written in the file (canonical heading if the column is absent)
    message: str


@dataclass
class ImportReport:
    kind: str
    filename: str
    dry_run: bool
    rows: int = 0  # non-blank data rows read
    created: int = 0  # rows that create a record
    updated: int = 0  # rows that match an existing record
    changed: int = 0  # of ``updated``, rows whose values differ from the stored record
    file_errors: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    committed: bool = False  # True only when a real run wrote its rows

    @property
    def ok(self) -> bool:
        return not self.file_errors and not self.errors

    @property
    def bad_rows(self) -> list[int]:
        return sorted({error.row for error in self.errors})

    def counts(self) -> dict[str, Any]:
        return {"filename": self.filename, "rows": self.rows, "created": self.created,
                "updated": self.updated, "changed": self.changed}

    def as_text(self) -> str:
        """Plain-text rendering for the management command."""
        lines = [f"文件：{self.filename}  类型：{self.kind}  "
                 f"{'试导入（未写入）' if self.dry_run else '导入'}"]
        lines += [f"错误：{message}" for message in self.file_errors]
        if not self.file_errors:
            lines.append(f"数据行：{self.rows}  新增：{self.created}  更新：{self.updated}"
                         f"（其中有变化：{self.changed}）")
        if self.unknown_columns:
            lines.append("已忽略的未知列：" + "、".join(self.unknown_columns))
        if self.errors:
            lines.append(f"有错误的行：{len(self.bad_rows)}（全部未写入）")
            lines += [f"  第{e.row}行  [{e.column}]  {e.message}" for e in self.errors]
        elif self.committed:
            lines.append("已写入。")
        return "\n".join(lines)
