// A drop target's state and handlers: the panels that take dropped files (a face photo, a
// model folder) show the same 'dragging' highlight and hand on the DataTransfer.
import { useState, type DragEvent } from 'react';

export function useDropTarget(onDrop: (data: DataTransfer) => void) {
  const [dragging, setDragging] = useState(false);
  return {
    dragging,
    handlers: {
      onDragOver: (e: DragEvent) => {
        e.preventDefault();
        setDragging(true);
      },
      onDragLeave: () => setDragging(false),
      onDrop: (e: DragEvent) => {
        e.preventDefault();
        setDragging(false);
        onDrop(e.dataTransfer);
      },
    },
  };
}
