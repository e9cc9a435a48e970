// Provisioning in over SCIM, end to end: an administrator registers a provisioning source in
// the browser and copies its token; this test then acts as the identity provider's SCIM client
// with that token, provisions a user into a group, and the administrator sees the user, its
// source and its group; the client deactivates the user and the console shows it suspended,
// with the audit trail naming the source.
import {
  assert, BASE_URL, e2eTest, expectText, expectTextContains, realProblems, signIn, USERS, waitForHydration,
} from './helpers.mjs';

const RUN = [...Date.now().toString(36)].reverse().join('');

async function scim(token, method, path, body) {
  const res = await fetch(`${BASE_URL}/scim/v2${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/scim+json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

e2eTest('an admin registers a source; its SCIM client provisions a user into a group and deactivates it', async ({ page, problems }) => {
  const sourceId = `entra-${RUN}`;
  const response = await signIn(page, USERS.admin.email, '/sources');
  assert.equal(response.status(), 200);
  await waitForHydration(page);
  await page.fill('#source-id', sourceId);
  await page.fill('#source-name', `Entra ${RUN}`);
  await page.click('#create-source');
  const token = (await page.locator('[data-testid="source-token"]').textContent()).trim();
  assert.match(token, /^ghp_[0-9A-Za-z]{49}$/);
  await expectTextContains(page, '#sources-table', `Entra ${RUN}`);

  const email = `provisioned.${RUN}@contoso.com`;
  const created = await scim(token, 'POST', '/Users', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName: email, externalId: `ext-${RUN}`, active: true, displayName: `Prov User ${RUN}`,
    name: { givenName: 'Prov', familyName: `User ${RUN}` },
    emails: [{ primary: true, type: 'work', value: email }],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const userId = created.body.id;
  const group = await scim(token, 'POST', '/Groups', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
    displayName: `Field team ${RUN}`, members: [{ value: userId }],
  });
  assert.equal(group.status, 201, JSON.stringify(group.body));

  await page.goto(`${BASE_URL}/users/${userId}`);
  await waitForHydration(page);
  await expectText(page, '#user-name', `Prov User ${RUN}`);
  await expectTextContains(page, 'main', sourceId);
  await expectTextContains(page, '#memberships', `Field team ${RUN}`);
  assert.equal(await page.locator('[data-status="active"]').first().count(), 1);

  const off = await scim(token, 'PATCH', `/Users/${userId}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
  });
  assert.equal(off.status, 200, JSON.stringify(off.body));
  await page.reload();
  await waitForHydration(page);
  await expectTextContains(page, '#user-name + [data-status]', 'Suspended');
  await page.goto(`${BASE_URL}/audit?target_type=user&target_id=${userId}`);
  await waitForHydration(page);
  await expectTextContains(page, '#audit-table', `source:${sourceId}`);
  await expectTextContains(page, '#audit-table', 'user.status');

  await page.goto(`${BASE_URL}/sources/${sourceId}`);
  await waitForHydration(page);
  await expectTextContains(page, '#source-profile', 'Created (users and groups)2');
  await expectTextContains(page, '#source-profile', 'Users deactivated1');
  assert.deepEqual(realProblems(problems), []);
});
