"""Teaching at class scale (issue 16): exercise variants, sheets and keys, Moodle quizzes, grading and the class summary."""
