"""Source scan of the student's cells for forbidden access: the reference solutions, the
hidden tests or other files, and tampering with the grader (numpy, builtins, exception
hooks, frames, the kernel). A hit is a note for the instructor; it costs no points (the judge
decides from what the student's code returns)."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

# (kind, scope, pattern, reason). The scope says how far the access could reach ("part": the
# tests right after the cell; "rest": every later test); it is described, never scored.
RULES = [
    ("solutions", "part", r"course_lib\s*[./\\]\s*solutions|^\s*(from|import)\s[^\n]*\bsolutions\b", "refers to the reference solutions"),
    ("checks", "part", r"course_lib\s*[./\\]\s*(checks|judges)\b", "refers to the course's checks or judges"),
    ("files", "rest", r"\bopen\s*\(|\bio\.|pathlib|\bPath\s*\(|\bos\b|\bglob\b|\bshutil\b|read_text|read_bytes|\.ipynb|HIDDEN|gradebook|nbgrader|notebooks/",
     "reads files (the hidden tests or the course's sources)"),
    ("tamper", "rest", r"\bsubprocess\b|\bctypes\b|\bsys\.modules\b|\bimportlib\b|__import__|\bbuiltins\b|__builtins__",
     "tampers with modules or builtins"),
    ("tamper", "rest", r"set_custom_exc|excepthook|get_ipython|\b_ih\b|\bIn\s*\[|\bOut\s*\[|_getframe|\binspect\b|\bgc\b|\bsys\.settrace|\bsetprofile\b|\bsignal\b",
     "tampers with the kernel, exception handling or the caller's frames"),
    ("tamper", "rest", r"^\s*(np|numpy|math|course_lib|checks|common)(\.\w+)+\s*(=|\+=)(?!=)|\bsetattr\s*\(\s*(np|numpy|math|course_lib|checks|common)\b|\bdelattr\s*\(",
     "replaces functions of numpy or of the checks (monkeypatching)"),
    ("tamper", "rest", r"\bvars\s*\(|__dict__|__class__|__subclasses__|__globals__|__code__|__closure__", "reaches into object internals"),
    ("tamper", "rest", r"\bexec\s*\(|\beval\s*\(|\bcompile\s*\(|\bglobals\s*\(\s*\)\s*\[", "runs code built at run time"),
]
_COMPILED = [(kind, scope, re.compile(pattern, re.MULTILINE), reason) for kind, scope, pattern, reason in RULES]


@dataclass(frozen=True)
class Flag:
    """A forbidden pattern in the student's cell ``cell``."""

    cell: int
    kind: str
    scope: str
    reason: str
    snippet: str

    def describe(self) -> str:
        return f"cell {self.cell}: {self.reason} (`{self.snippet}`)"


def _code_only(source: str) -> str:
    """The source without comments (a `#` note mentioning a word is not access)."""
    return "\n".join(re.sub(r"#.*$", "", line) for line in source.split("\n"))


def _module_patches(source: str) -> list[str]:
    """Assignments to an attribute of an imported module (any alias), found in the AST."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        tree = ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return []
    modules = {"np", "numpy", "math", "course_lib", "checks", "common"}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    hits = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
        for target in targets:
            root = target
            while isinstance(root, (ast.Attribute, ast.Subscript)):
                root = root.value
            if isinstance(root, ast.Name) and root.id in modules and target is not root:
                hits.append(ast.unparse(target))
    return hits


def scan_cell(index: int, source: str) -> list[Flag]:
    """Every rule the cell's code breaks (one flag per rule)."""
    code = _code_only(source)
    flags = [Flag(index, "tamper", "rest", "replaces an attribute of an imported module (monkeypatching)", hit)
             for hit in _module_patches(source)[:1]]
    for kind, scope, pattern, reason in _COMPILED:
        match = pattern.search(code)
        if match:
            line = code[code.rfind("\n", 0, match.start()) + 1 : code.find("\n", match.end()) if code.find("\n", match.end()) >= 0 else len(code)]
            flags.append(Flag(index, kind, scope, reason, line.strip()[:80]))
    return flags
