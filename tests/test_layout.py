"""The engine's layout, read from its source: which floor may import what, and how long a function may grow."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "engine"
LONGEST_FUNCTION = 60  # lines


def modules():
    return sorted(ENGINE.rglob("*.py"))


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (inside functions too), as an absolute name."""
    package = ["engine", *path.relative_to(ENGINE).parent.parts]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names |= {module} | {f"{module}.{alias.name}" for alias in node.names}
    return names


def floor(path: Path) -> str:
    parts = path.relative_to(ENGINE).parts
    return parts[0] if len(parts) > 1 else "top"


def test_only_the_training_floor_imports_keras_or_tensorflow():
    heavy = {path.relative_to(ENGINE).as_posix(): sorted(n for n in imported(path)
                                                         if n.split(".")[0] in {"keras", "tensorflow"})
             for path in modules() if floor(path) != "training"}
    assert {path: names for path, names in heavy.items() if names} == {}


def test_the_floors_import_one_way():
    """lm uses neither training, the games nor storage; the games and storage never use training."""
    forbidden = {"lm": ("engine.training", "engine.games", "engine.storage"),
                 "games": ("engine.training",), "storage": ("engine.training", "engine.games")}
    wrong = {path.relative_to(ENGINE).as_posix(): sorted(n for n in imported(path) if n.startswith(forbidden[floor(path)]))
             for path in modules() if floor(path) in forbidden}
    assert {path: names for path, names in wrong.items() if names} == {}


def test_no_engine_function_is_longer_than_sixty_lines():
    long = [f"{path.relative_to(ENGINE)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for path in modules() for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > LONGEST_FUNCTION]
    assert long == []


def reads_the_environment(node) -> bool:
    """``os.environ.get(...)``, ``os.environ[...]`` or ``os.getenv(...)``."""
    def is_environ(n):
        return isinstance(n, ast.Attribute) and n.attr == "environ"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr == "getenv" or (node.func.attr == "get" and is_environ(node.func.value))
    return isinstance(node, ast.Subscript) and is_environ(node.value)


def test_the_environment_is_read_in_one_place():
    readers = sorted({path.relative_to(ROOT).as_posix() for folder in ("engine", "ui", "app_pages")
                      for path in (ROOT / folder).rglob("*.py")
                      if any(reads_the_environment(n) for n in ast.walk(ast.parse(path.read_text())))})
    assert readers == []  # engine.config.Environment.read is the one reader


def test_the_environment_is_read_as_it_is_now_and_empty_means_unset():
    from engine.config import Environment

    read = Environment.read({"PATENT_CORPUS": "/data/a.csv", "DATABASE_URL": "", "PUBLIC_URL": "https://x"})
    assert (read.corpus, read.database_url, read.public_url, read.retrain_token) == ("/data/a.csv", None, "https://x", None)
