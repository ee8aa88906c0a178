// The look inside's own state: the pixel the visitor points at on the entropy map, which
// the hood shows while no run is drawing. Apart from the app store, which it does not change.
import { create } from 'zustand';

export interface Pointed {
  row: number;
  col: number;
  channel: number;
}

export const useInside = create<{ pointed: Pointed | null; point(p: Pointed | null): void }>()((set) => ({
  pointed: null,
  point: (pointed) => set({ pointed }),
}));
