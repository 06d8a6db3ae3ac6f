"""nbgrader settings for grading this course: the one copy, kept with the course.

`make grade` (grading/grade.py) copies this file into the course folder as nbgrader_config.py
every time it runs, so every nbgrader command run in that folder, by `make grade` or by hand
(`nbgrader autograde mnist`, the formgrader), uses these settings. Edit them here, not in the copy.
See docs/instructors.md, "Autograding with nbgrader".
"""

import re

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests, GetGrades
from traitlets import List

c = get_config()  # noqa: F821 (nbgrader's config loader provides get_config)

c.CourseDirectory.course_id = "mnist-keras-course"

# Seconds one cell may run while nbgrader executes a submission (autograde, validate); after that
# the kernel is interrupted and the cell's tests score zero. nbgrader's default, 30 s, cuts off the
# training cells: notebook 02's take about a minute and notebook 04's up to about 2 minutes each on
# 2 CPU cores. 1800 s (30 minutes) leaves a wide margin for a slower or busy machine (several
# graders sharing a server, a laptop on battery) and for a student who trains for a few more
# epochs, and it still ends an endless loop in a student's answer within half an hour.
c.Execute.timeout = 1800

# Feedback for students: nbgrader's autograded notebooks hold the hidden tests (autograde puts
# them back to run them), and generate_feedback renders them as they are. ClearHiddenTests, the
# preprocessor that generate_assignment uses to write the student version, removes them from the
# feedback as well; the subclass below also drops the traceback lines that quote them.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
HIDDEN_NOTE = "(this cell's code is not shown here: it holds hidden tests)"


class ClearHiddenTestsFromFeedback(ClearHiddenTests):
    """nbgrader's ClearHiddenTests for the autograder test cells (whose code autograde took from the
    instructor's version), plus: an error raised in a cell that has hidden tests keeps its message
    (e.g. "CheckFailed: ...") but loses every traceback part that quotes the cell's code.
    """

    # nbconvert's HTML exporter sets display_data_priority for all preprocessors: accept it quietly
    display_data_priority = List([]).tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        if not utils.is_grade(cell) or utils.is_solution(cell):
            return cell, resources  # the student's own cells are shown as they wrote them
        secret = self._hidden_lines(cell.source)
        for output in cell.get("outputs", []) if secret else []:
            if output.get("output_type") == "error":
                parts = []
                for part in output.traceback:
                    if any(line in ANSI_ESCAPE.sub("", part) for line in secret):
                        part = HIDDEN_NOTE  # a frame that quotes the cell's code, hidden tests included
                    if not (part == HIDDEN_NOTE and parts and parts[-1] == HIDDEN_NOTE):
                        parts.append(part)
                output.traceback = parts
        return super().preprocess_cell(cell, resources, cell_index)

    def _hidden_lines(self, source):
        """The non-blank lines of the cell's hidden test regions, delimiters included."""
        lines, inside = [], False
        for line in source.splitlines():
            inside = inside or self.begin_test_delimeter in line
            if inside and line.strip():
                lines.append(line.strip())
            inside = inside and self.end_test_delimeter not in line
        return lines


c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTestsFromFeedback, CSSHTMLHeaderPreprocessor]
