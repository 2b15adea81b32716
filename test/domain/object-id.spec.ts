import { fold } from '../../src/domain/decider.js';
import {
  decideObjectId,
  evolveObjectId,
  objectIdDecider,
  type ObjectStreamEvent,
  type ReserveObjectId,
} from '../../src/domain/object/object-id.js';
import { specification } from '../support/decider-spec.js';
import { asUser, AT, OWNER, WORLD } from './fixtures.js';

const OBJECT = 'o0000000-0000-4000-8000-000000000001';
const OTHER_WORLD = 'w0000000-0000-4000-8000-000000000002';

const objectId = specification(decideObjectId);
const idAfter = (...events: ObjectStreamEvent[]) =>
  fold(evolveObjectId, objectIdDecider.initialState(), events);
const reserve = (worldId = WORLD): ReserveObjectId => ({
  type: 'ReserveObjectId',
  data: { objectId: OBJECT, worldId },
  actor: asUser(OWNER),
  at: AT,
});

describe('object id reservation', () => {
  it('reserves a free id for the world that spawns the object', () =>
    objectId
      .given(idAfter())
      .when(reserve())
      .then([{ type: 'ObjectIdReserved', data: { objectId: OBJECT, worldId: WORLD } }]));

  it('refuses an id reserved already, by another world', () =>
    objectId
      .given(idAfter({ type: 'ObjectIdReserved', data: { objectId: OBJECT, worldId: WORLD } }))
      .when(reserve(OTHER_WORLD))
      .thenRefuses('object_exists', 'conflict'));

  it('refuses an id reserved already, even by the same world: ids are not reused', () =>
    objectId
      .given(idAfter({ type: 'ObjectIdReserved', data: { objectId: OBJECT, worldId: WORLD } }))
      .when(reserve())
      .thenRefuses('object_exists', 'conflict'));

  it('refuses an id whose stream holds edits, whatever event came first', () =>
    objectId
      .given(
        idAfter({
          type: 'ObjectRenamed',
          data: { worldId: WORLD, objectId: OBJECT, name: 'Fountain' },
        }),
      )
      .when(reserve(OTHER_WORLD))
      .thenRefuses('object_exists', 'conflict'));
});
