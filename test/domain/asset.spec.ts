import assert from 'node:assert/strict';
import { fold } from '../../src/domain/decider.js';
import {
  decideAsset,
  evolveAsset,
  initialAsset,
  libraryNameOf,
  requireUsableAsset,
  type AssetCommand,
  type AssetEvent,
  type AssetUploaded,
} from '../../src/domain/asset/asset.js';
import { contentIdOfDigest, isContentId } from '../../src/domain/asset/content-id.js';
import { DomainError } from '../../src/domain/errors.js';
import { specification } from '../support/decider-spec.js';
import { asUser, AT, OWNER, SYSTEM, VISITOR } from './fixtures.js';

const MODEL = 'bafkrei-model';
const IMAGE = 'bafkrei-image';
const assetAfter = (...events: AssetEvent[]) => fold(evolveAsset, initialAsset(), events);
const asset = specification(decideAsset);

const uploaded = (
  assetId = MODEL,
  uploaderId = OWNER,
  kind: 'model' | 'image' = 'model',
): AssetUploaded => ({
  type: 'AssetUploaded',
  data: {
    assetId,
    uploaderId,
    kind,
    contentType: kind === 'model' ? 'model/gltf-binary' : 'image/png',
    size: 1234,
    originalName: kind === 'model' ? 'models/Chair.v2.glb' : 'preview.png',
  },
});

type Of<T extends AssetCommand['type']> = Extract<AssetCommand, { type: T }>;
const command = <T extends AssetCommand['type']>(
  type: T,
  data: Of<T>['data'],
  actor = asUser(OWNER),
) => ({ type, data, actor, at: AT }) as unknown as Of<T>;

const upload = (actor = asUser(OWNER)) =>
  command(
    'RecordUpload',
    {
      assetId: MODEL,
      kind: 'model',
      contentType: 'model/gltf-binary',
      size: 1234,
      originalName: 'models/Chair.v2.glb',
    },
    actor,
  );

describe('asset decider', () => {
  it('records the first upload, one more per new uploader, and nothing for a repeat', () => {
    asset.given({ asset: initialAsset() }).when(upload()).then([uploaded()]);
    asset
      .given({ asset: assetAfter(uploaded()) })
      .when(upload())
      .then([]);
    asset
      .given({ asset: assetAfter(uploaded()) })
      .when(upload(asUser(VISITOR)))
      .then([uploaded(MODEL, VISITOR)]);
  });

  it('refuses an upload by a service, and one whose size or type differs from the known bytes', () => {
    asset.given({ asset: initialAsset() }).when(upload(SYSTEM)).thenRefuses('not_allowed');
    const other = { ...upload(asUser(VISITOR)), data: { ...upload().data, size: 99 } };
    asset
      .given({ asset: assetAfter(uploaded()) })
      .when(other)
      .thenRefuses('asset_mismatch');
  });

  it('names a library entry after the file, private and without a preview, per uploader', () => {
    const state = assetAfter(uploaded(), uploaded(MODEL, VISITOR));
    assert.equal(state.status, 'stored');
    if (state.status !== 'stored') return;
    assert.deepEqual(state.entries.get(OWNER), {
      name: 'Chair.v2',
      previewAssetId: null,
      visibility: 'private',
    });
    assert.equal(state.entries.size, 2);
    assert.equal(libraryNameOf('C:\\models\\.hidden'), '.hidden');
    assert.equal(libraryNameOf(''), 'Untitled');
  });

  it('changes only what differs in the uploader’s own entry', () => {
    const state = {
      asset: assetAfter(uploaded()),
      preview: assetAfter(uploaded(IMAGE, VISITOR, 'image')),
    };
    asset
      .given(state)
      .when(
        command('ChangeAssetDetails', {
          assetId: MODEL,
          name: 'Chair.v2',
          previewAssetId: IMAGE,
          visibility: 'public',
        }),
      )
      .then([
        {
          type: 'AssetDetailsChanged',
          data: { assetId: MODEL, ownerId: OWNER, previewAssetId: IMAGE, visibility: 'public' },
        },
      ]);
    asset
      .given(state)
      .when(command('ChangeAssetDetails', { assetId: MODEL, visibility: 'private' }))
      .then([]);
  });

  it('refuses edits by others, previews that are not images or absent, and bad names', () => {
    const state = { asset: assetAfter(uploaded()) };
    asset
      .given(state)
      .when(command('ChangeAssetDetails', { assetId: MODEL, name: 'x' }, asUser(VISITOR)))
      .thenRefuses('asset_not_in_library', 'not_found');
    asset
      .given({ ...state, preview: assetAfter(uploaded('bafkrei-other')) })
      .when(command('ChangeAssetDetails', { assetId: MODEL, previewAssetId: 'bafkrei-other' }))
      .thenRefuses('preview_not_an_image', 'invalid');
    asset
      .given(state)
      .when(command('ChangeAssetDetails', { assetId: MODEL, previewAssetId: IMAGE }))
      .thenRefuses('asset_not_found', 'not_found');
    asset
      .given(state)
      .when(command('ChangeAssetDetails', { assetId: MODEL, name: ' ' }))
      .thenRefuses('invalid_name');
    asset
      .given({ asset: initialAsset() })
      .when(command('ChangeAssetDetails', { assetId: MODEL, name: 'x' }))
      .thenRefuses('asset_not_found');
  });

  it('records a texture of an image once, made by the server, at a power-of-two width', () => {
    const texture = {
      assetId: IMAGE,
      width: 256,
      height: 128,
      textureId: 'bafkrei-texture',
      contentType: 'image/png',
      size: 99,
    };
    const image = assetAfter(uploaded(IMAGE, OWNER, 'image'));
    asset
      .given({ asset: image })
      .when(command('RecordTexture', texture, SYSTEM))
      .then([{ type: 'AssetTextureMade', data: texture }]);
    asset
      .given({
        asset: assetAfter(uploaded(IMAGE, OWNER, 'image'), {
          type: 'AssetTextureMade',
          data: texture,
        }),
      })
      .when(command('RecordTexture', texture, SYSTEM))
      .then([]);
    asset
      .given({ asset: image })
      .when(command('RecordTexture', texture))
      .thenRefuses('not_allowed');
    asset
      .given({ asset: image })
      .when(command('RecordTexture', { ...texture, width: 300 }, SYSTEM))
      .thenRefuses('invalid_texture_width');
    asset
      .given({ asset: assetAfter(uploaded()) })
      .when(command('RecordTexture', { ...texture, assetId: MODEL }, SYSTEM))
      .thenRefuses('not_an_image');
  });

  it('lets a skybox be an image only, and any existing asset be an object', () => {
    const model = assetAfter(uploaded());
    assert.equal(requireUsableAsset(model, MODEL, 'object').kind, 'model');
    assert.throws(
      () => requireUsableAsset(model, MODEL, 'skybox'),
      (error: unknown) => error instanceof DomainError && error.code === 'skybox_not_an_image',
    );
    assert.throws(
      () => requireUsableAsset(initialAsset(), MODEL, 'object'),
      (error: unknown) => error instanceof DomainError && error.code === 'asset_not_found',
    );
  });
});

describe('content ids', () => {
  it('name bytes by their SHA-256 as a CIDv1 (raw) in base32, and accept only that spelling', () => {
    // sha256("hello"), a well-known CID in IPFS.
    const digest = Buffer.from(
      '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
      'hex',
    );
    const id = contentIdOfDigest(digest);
    assert.equal(id, 'bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq');
    assert.equal(isContentId(id), true);
    assert.equal(isContentId(id.toUpperCase()), false, 'another base is another spelling');
    assert.equal(isContentId('QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'), false, 'CIDv0');
    assert.equal(
      isContentId('bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'),
      false,
      'dag-pb',
    );
    assert.equal(isContentId('bafy-sky'), false);
  });
});
