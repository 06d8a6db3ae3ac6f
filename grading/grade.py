"""Grade the course's notebooks with nbgrader: what `make grade` runs.

    python grading/grade.py                         # course folder grading/course/
    python grading/grade.py --course ~/mnist-2025   # any other folder
    python grading/grade.py --source notebooks/01_data_exploration.ipynb   # a new course of one notebook

The course folder is an ordinary nbgrader course (nbgrader's own layout):

    COURSE/nbgrader_config.py           copy of grading/nbgrader_config.py, refreshed on every run
    COURSE/source/mnist/                the instructor notebooks (copied from notebooks/ on the first run)
    COURSE/release/mnist/               the student versions (nbgrader generate_assignment)
    COURSE/submitted/STUDENT/mnist/     the students' notebooks: you put them here (or nbgrader collect)
    COURSE/autograded/STUDENT/mnist/    executed, with the hidden tests: for you, not for students
    COURSE/feedback/STUDENT/mnist/      HTML feedback without the hidden tests: return these
    COURSE/gradebook.db, COURSE/grades.csv

Every run: refresh the config, lay out source/ if it is missing, `nbgrader generate_assignment`,
and, when there are submissions, `nbgrader autograde`, `nbgrader generate_feedback` and
`nbgrader export`, all run in the course folder. generate_assignment and autograde skip what is
up to date, so a second run grades only new or changed submissions; the feedback is always written
again (it then includes manual grades and comments from the formgrader). The course's source/ is
never replaced: it is what the students' version was made from. Delete COURSE/source/ to start
again from notebooks/.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONFIG = Path(__file__).with_name("nbgrader_config.py")
ASSIGNMENT = "mnist"
IGNORED = ("__pycache__", "*.pyc", ".ipynb_checkpoints")


def nbgrader(course: Path, *args: str) -> None:
    """Run one nbgrader command in the course folder; stop on failure."""
    print(f"\n== nbgrader {' '.join(args)}", flush=True)
    # nbgrader runs the `alembic` command of its own environment for its database;
    # the environment's own kernel wins over one in the user's home
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "JUPYTER_PREFER_ENV_PATH": "1"}
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env)
    if done.returncode != 0:
        raise SystemExit(f"nbgrader {args[0]} failed (exit code {done.returncode}, see above).")


def lay_out_source(source: Path, notebooks: list[Path]) -> None:
    """Copy the instructor notebooks (folders are copied whole, e.g. notebooks/ with its images/)."""
    staging = source.with_name(f".{source.name}.part")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for path in notebooks:
        if path.is_dir():
            shutil.copytree(path, staging, ignore=shutil.ignore_patterns(*IGNORED), dirs_exist_ok=True)
        else:
            shutil.copy2(path, staging / path.name)
    staging.rename(source)  # source/ appears complete, or not at all


def differs(source: Path, notebooks: list[Path]) -> list[str]:
    """Names of the given notebooks that are not identical in the course's source/."""
    files = [p for path in notebooks for p in (sorted(path.glob("*.ipynb")) if path.is_dir() else [path])]
    return [p.name for p in files if not (source / p.name).is_file() or not filecmp.cmp(p, source / p.name, False)]


def submissions(course: Path) -> list[str]:
    return sorted(p.parent.name for p in (course / "submitted").glob(f"*/{ASSIGNMENT}") if p.is_dir())


def report(course: Path, students: list[str]) -> None:
    """Each student's automatically graded points, and what is left to grade by hand."""
    from nbgrader.api import Gradebook
    from traitlets.config.loader import PyFileConfigLoader

    course_id = PyFileConfigLoader("nbgrader_config.py", str(course)).load_config().CourseDirectory.course_id
    print(f"\nAutomatically graded points, assignment {ASSIGNMENT}:")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=course_id) as gb:
        for student in students:
            s = gb.find_submission(ASSIGNMENT, student)
            manual = " (written answers: grade them in the formgrader)" if s.needs_manual_grade else ""
            print(f"  {student:20s} {s.code_score:g} / {s.max_code_score:g}{manual}")
    print(f"Grades (all points): {course / 'grades.csv'}\nFeedback for students: {course / 'feedback'}/")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", type=Path, default=REPO / "grading" / "course", help="the course folder")
    parser.add_argument(
        "--source",
        type=Path,
        nargs="+",
        default=[REPO / "notebooks"],
        help="instructor notebooks or folders for a new course's source/ (default: notebooks/)",
    )
    args = parser.parse_args(argv)
    course = args.course.expanduser().resolve()
    notebooks = [p.resolve() for p in args.source]

    course.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CONFIG, course / "nbgrader_config.py")
    source = course / "source" / ASSIGNMENT
    if not source.is_dir():
        lay_out_source(source, notebooks)
        print(f"Course folder {course}: instructor notebooks copied to source/{ASSIGNMENT}/")
    elif changed := differs(source, notebooks):
        print(
            f"Note: {', '.join(changed)} in {source} differ from {', '.join(map(str, args.source))}; grading uses "
            "the course's copy (what the student versions were made from). Delete that folder to start again."
        )
    nbgrader(course, "generate_assignment", ASSIGNMENT)

    students = submissions(course)
    if not students:
        print(
            f"\nNo submissions yet. Student versions: {course / 'release' / ASSIGNMENT}/\n"
            f"Put each student's notebooks in {course}/submitted/STUDENT_ID/{ASSIGNMENT}/ "
            "(or run `nbgrader collect mnist` there), then run this again."
        )
        return 0
    nbgrader(course, "autograde", ASSIGNMENT)
    # always rewritten: it is quick, and it picks up manual grades and comments from the formgrader
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")
    nbgrader(course, "export", "--to", "grades.csv")
    report(course, students)
    return 0


if __name__ == "__main__":
    sys.exit(main())
