/** $PYTHON, then /usr/bin/python3, then python3 on PATH: the first that imports torch and numpy, or null. */
export function findPython(): string | null;
