"""Lecture packs: render many scenes in parallel into one folder with a slide player page.

`build_lecture(LectureRequest(...))` is the entry point (scenes.lecture.build); `mmtrace
lecture` is its command line. Workers are started by a fork server, so a program that calls
build_lecture must guard its entry point with `if __name__ == "__main__":`.
"""
