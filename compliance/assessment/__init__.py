"""Monthly KPIs and assessments (考评, RULES.md §4): formulas, the roll-up, reads."""
