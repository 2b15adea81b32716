import type { LiveWorld } from '../api/live.js';
import { short } from '../api/live.js';

/**
 * A top-down view of a world: x to the right, z downwards; objects are squares (locked ones
 * outlined in the holder's colour), avatars are dots with a heading tick. The frame grows to hold
 * everything there is, at least 40 × 40 units around the origin.
 */
const colourOf = (id: string) => {
  let hash = 0;
  for (const char of id) hash = (hash * 31 + char.charCodeAt(0)) | 0;
  return `hsl(${Math.abs(hash) % 360} 70% 45%)`;
};

export const WorldMap = ({
  world,
  selected,
  onSelect,
  onKey,
}: {
  world: LiveWorld;
  selected: string | undefined;
  onSelect: (objectId: string) => void;
  onKey: (key: string) => boolean;
}) => {
  const points = [...world.objects.map((o) => [o.x, o.z]), ...world.avatars.map((a) => [a.x, a.z])];
  let minX = -20;
  let maxX = 20;
  let minZ = -20;
  let maxZ = 20;
  for (const [x = 0, z = 0] of points) {
    minX = Math.min(minX, x - 4);
    maxX = Math.max(maxX, x + 4);
    minZ = Math.min(minZ, z - 4);
    maxZ = Math.max(maxZ, z + 4);
  }
  const size = Math.max(maxX - minX, maxZ - minZ);
  const unit = size / 100;
  return (
    <svg
      class="map"
      role="group"
      aria-label={`Map of the world: ${world.objects.length} objects, ${world.avatars.length} avatars. Arrow keys move your avatar.`}
      tabindex={0}
      viewBox={`${minX} ${minZ} ${size} ${size}`}
      data-testid="map"
      onKeyDown={(event) => {
        if (onKey(event.key)) event.preventDefault();
      }}
    >
      <defs>
        <pattern id="grid" width="10" height="10" patternUnits="userSpaceOnUse">
          <path d="M 10 0 L 0 0 0 10" fill="none" stroke="var(--grid)" stroke-width={unit * 0.3} />
        </pattern>
      </defs>
      <rect x={minX} y={minZ} width={size} height={size} fill="url(#grid)" />
      <line
        x1={minX}
        y1={0}
        x2={minX + size}
        y2={0}
        stroke="var(--axis)"
        stroke-width={unit * 0.3}
      />
      <line
        x1={0}
        y1={minZ}
        x2={0}
        y2={minZ + size}
        stroke="var(--axis)"
        stroke-width={unit * 0.3}
      />
      {world.objects
        .filter((o) => o.objectType !== 'world')
        .map((o) => {
          const holder = world.locks.get(o.id);
          const half = unit * 2.2;
          return (
            <g
              key={o.id}
              class="object"
              data-object-id={o.id}
              data-locked={holder ? 'true' : undefined}
              onClick={() => onSelect(o.id)}
            >
              <title>
                {o.name}
                {holder ? ` (locked by ${short(holder)})` : ''}
              </title>
              <rect
                x={o.x - half}
                y={o.z - half}
                width={half * 2}
                height={half * 2}
                rx={unit * 0.5}
                fill={o.id === selected ? 'var(--accent)' : 'var(--object)'}
                stroke={holder ? colourOf(holder) : 'none'}
                stroke-width={holder ? unit * 1.2 : 0}
              />
              {holder && (
                <text x={o.x} y={o.z + unit * 1.2} font-size={unit * 3} text-anchor="middle">
                  🔒
                </text>
              )}
              <text
                x={o.x}
                y={o.z - half - unit}
                font-size={unit * 2.8}
                text-anchor="middle"
                class="label"
              >
                {o.name}
              </text>
            </g>
          );
        })}
      {world.avatars.map((a) => {
        const radians = (a.heading * Math.PI) / 180;
        const r = unit * 1.8;
        return (
          <g
            key={a.userId}
            class="avatar"
            data-user-id={a.userId}
            data-x={a.x.toFixed(2)}
            data-z={a.z.toFixed(2)}
          >
            <title>
              {a.userId === world.me ? 'you' : short(a.userId)} at {a.x.toFixed(1)},{' '}
              {a.z.toFixed(1)}
            </title>
            <circle
              cx={a.x}
              cy={a.z}
              r={r}
              fill={colourOf(a.userId)}
              stroke={a.userId === world.me ? 'var(--fg)' : 'white'}
              stroke-width={unit * 0.6}
            />
            <line
              x1={a.x}
              y1={a.z}
              x2={a.x + Math.sin(radians) * r * 1.8}
              y2={a.z + Math.cos(radians) * r * 1.8}
              stroke={colourOf(a.userId)}
              stroke-width={unit * 0.7}
            />
          </g>
        );
      })}
    </svg>
  );
};
