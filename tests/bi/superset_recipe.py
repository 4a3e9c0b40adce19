"""The documented Superset recipe inside Apache Superset itself (tests/bi/superset-requirements.txt,
its own virtualenv: Superset pins pandas 2 and SQLAlchemy 1.4). Superset's `Database` model builds
the engine from the recipe's engine parameters exactly as the *Engine parameters* field does, and
`get_df` runs the recipe's query through Superset's query path. Run by tests/bi/run.sh after
test_clients.py (which inserts the fixtures) when BI_SUPERSET_PYTHON is set.
"""

import json
import os
import tempfile
import unittest
from pathlib import Path

from test_clients import T0, as_float, expected, recipe

_HOME = tempfile.mkdtemp(prefix="superset-bi-")
Path(_HOME, "superset_config.py").write_text(f'''
SECRET_KEY = "bi-test-only-{os.getpid()}-not-a-secret-0123456789"
SQLALCHEMY_DATABASE_URI = "sqlite:///{_HOME}/superset.db"
# Superset's metastore cache is not needed to run a query.
FILTER_STATE_CACHE_CONFIG = {{"CACHE_TYPE": "SimpleCache"}}
EXPLORE_FORM_DATA_CACHE_CONFIG = {{"CACHE_TYPE": "SimpleCache"}}
''')
os.environ["SUPERSET_CONFIG_PATH"] = str(Path(_HOME, "superset_config.py"))


class Superset(unittest.TestCase):
    def test_superset_runs_the_readme_recipe_and_gets_the_fixture_numbers(self):
        from importlib.metadata import version  # noqa: PLC0415

        from superset.app import create_app  # noqa: PLC0415 — after the config is in place

        app = create_app()
        with app.app_context():
            from flask_appbuilder import Model  # noqa: PLC0415
            from superset.extensions import db  # noqa: PLC0415
            from superset.models.core import Database  # noqa: PLC0415

            # Superset's tables (its query log among them) in a throwaway SQLite metadata DB.
            Model.metadata.create_all(db.engine)
            database = Database(
                database_name="cdrstats",
                sqlalchemy_uri="shillelagh://",
                extra=json.dumps({"engine_params": json.loads(recipe("superset-engine-params"))}),
            )
            self.assertEqual(database.db_engine_spec.engine_name, "Shillelagh")
            df = database.get_df(recipe("superset-query"))
        hour = expected("termination-statistics-quality", T0 - 360, T0 - 360 + 3540, 60)
        busy = [w for w in hour if w["total_calls"] > 0]
        self.assertEqual(list(df.columns), ["time", "total_calls", "asr", "acd"])
        got = [tuple(None if v != v else v for v in row) for row in df.itertuples(index=False)]
        self.assertEqual(sorted(got), sorted(
            (w["time"], w["total_calls"], float(w["asr"]), as_float(w["acd"])) for w in busy))
        self.assertEqual(df["asr"].tolist(), sorted(df["asr"].tolist(), reverse=True))
        print(f"apache-superset {version('apache-superset')}: {len(df)} rows", flush=True)


if __name__ == "__main__":
    unittest.main()
