// Signing out ends the Gatehouse session and the provider session.
import {
  assert, BASE_URL, e2eTest, expectProviderLogin, expectText, IDP_LOGOUT_TITLE, isGatehouse, isProvider, signIn, USERS,
} from './helpers.mjs';

e2eTest('signing out ends at "You have been signed out." and the console asks for sign-in again', async ({ page }) => {
  const response = await signIn(page, USERS.admin.email);
  assert.equal(response.status(), 200);
  await expectText(page, '#role', USERS.admin.role);

  await page.click('#sign-out');
  await page.waitForURL((u) => isProvider(u) || (isGatehouse(u) && u.pathname === '/signin'));
  assert.ok(isProvider(page.url()), `sign-out goes through the provider's end-session page, not straight back: ${page.url()}`);
  // With a provider session (as here) the provider asks for confirmation; without one,
  // oidc-provider serves its own auto-submitting "Submitting Callback" page instead.
  const title = await page.title().catch(() => '');
  if (title === IDP_LOGOUT_TITLE) {
    await expectText(page, '#logout-confirm', 'Sign out');
    await page.click('#logout-confirm');
  } else if (isProvider(page.url())) {
    assert.equal(title, 'Submitting Callback', `unexpected provider page: ${title}`);
  }
  await page.waitForURL(`${BASE_URL}/signin?signed_out=1`);
  await expectText(page, '#signed-out', 'You have been signed out.');
  await expectText(page, 'a#sign-in', 'Sign in with your company account');
  assert.equal(await page.locator('#whoami').count(), 0);

  await page.goto(`${BASE_URL}/`);
  await expectProviderLogin(page);
});
